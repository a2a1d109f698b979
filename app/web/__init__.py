"""What every page shares: error pages and the JSON error answer, template helpers,
and the one way a page runs a service and commits (`actions.attempt`)."""
