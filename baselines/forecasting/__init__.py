"""swapgym.baselines.forecasting """
