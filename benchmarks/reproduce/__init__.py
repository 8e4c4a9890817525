"""swapgym.benchmarks.reproduce """
