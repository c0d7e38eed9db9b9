"""Watching a swarm: the transcript rendered for people, in the terminal and in the browser."""
