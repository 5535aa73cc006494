"""Files of other tools (SCALE-Sim) read into accelsim networks and hardware."""
