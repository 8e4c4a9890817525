"""swapgym.baselines.optim """
