"""swapgym.agents """
