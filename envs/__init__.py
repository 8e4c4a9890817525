"""swapgym.envs — the environments. No solver or torch imports here."""
