"""Python tools of the heroes-infra repository."""
