"""accelsim: a cycle-level simulator of a neural-network accelerator."""
