"""The planner: where services are missing, for whom, and when."""
