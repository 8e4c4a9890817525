"""swapgym.train """
