"""swapgym.train — training entry points and per-env configs (YAML).

    swapgym train --env EmergencyPush [--algo maskable_ppo] [--timesteps N] [--seed S] [--resume]
    swapgym evaluate --agent runs/EmergencyPush_maskable_ppo_s0/model.zip --env EmergencyPush
    swapgym sweep --env EmergencyPush FleetV2V --seeds 0-2 [--executor ray]

``train.py`` is the training script (read it top to bottom), ``evaluate.py`` scores an
agent next to the baselines, ``sweep.py`` runs grids locally or on Ray Tune, and
``configs/<problem>.yaml`` hold each env's default algorithm, budget and hyperparameters.
"""
