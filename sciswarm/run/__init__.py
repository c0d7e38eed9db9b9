"""Running a swarm: config, roles and their wiring, the bus, the runner, stops, outcomes, resume, the run store."""
