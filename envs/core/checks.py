"""Reusable environment checks. Every problem's tests call these, so an environment's
test file is mostly its known-answer tests plus a few lines like::

    def test_contract():
        checks.check_contract("swapgym/EmergencyPush-v0")

The checks raise ``AssertionError`` with a message that says what broke and where.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np

import swapgym  # noqa: F401  (registers ids)
from swapgym.envs.core.spaces import get_action_masks, random_valid_action, sample_valid_action

Invariant = Callable[[gym.Env, Any, float, dict], None]


def make(env_id: str, **config: Any) -> gym.Env:
    return gym.make(env_id, **config)


def check_contract(env_id: str, *, sb3: bool = True, **config: Any) -> None:
    """Gymnasium's env checker and (optionally) SB3's ``check_env``, warnings as errors."""
    from gymnasium.utils.env_checker import check_env as gym_check_env

    env = make(env_id, **config)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(env.unwrapped, skip_render_check=True)
    env.close()
    if sb3:
        from stable_baselines3.common.env_checker import check_env as sb3_check_env

        env = make(env_id, **config)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sb3_check_env(env.unwrapped, warn=True)
        env.close()
        messages = [str(w.message) for w in caught]
        assert not messages, f"{env_id}: SB3 check_env warned: {messages}"


def rollout(env: gym.Env, seed: int, n_steps: int, action_seed: int = 0,
            invariant: Invariant | None = None) -> list[tuple[Any, float, bool, bool, dict]]:
    """``n_steps`` random valid actions (resetting at episode ends); returns the transitions.

    Checks at every step: observation inside the observation space, finite reward,
    and ``info["reward_breakdown"]`` summing to the reward. ``invariant`` is called
    after each step with ``(env, obs, reward, info)``.
    """
    rng = np.random.default_rng(action_seed)
    obs, info = env.reset(seed=seed)
    _check_obs(env, obs, "reset")
    out = []
    for t in range(n_steps):
        action = random_valid_action(env, rng)
        obs, reward, terminated, truncated, info = env.step(action)
        _check_obs(env, obs, f"step {t}")
        assert np.isfinite(reward), f"step {t}: reward is {reward}"
        breakdown = info.get("reward_breakdown")
        assert isinstance(breakdown, Mapping), f"step {t}: info lacks reward_breakdown"
        total = sum(breakdown.values())
        assert np.isclose(total, reward, rtol=1e-9, atol=1e-6), (
            f"step {t}: reward_breakdown sums to {total}, reward is {reward}")
        if invariant is not None:
            invariant(env, obs, reward, info)
        out.append((obs, float(reward), terminated, truncated, info))
        if terminated or truncated:
            obs, info = env.reset()
            _check_obs(env, obs, f"reset after step {t}")
    return out


def _check_obs(env: gym.Env, obs: Any, where: str) -> None:
    assert env.observation_space.contains(obs), f"{where}: observation outside observation_space: {obs}"
    for leaf in _leaves(obs):
        arr = np.asarray(leaf)
        if arr.dtype.kind == "f":
            assert np.all(np.isfinite(arr)), f"{where}: observation has NaN/inf"


def _leaves(x: Any):
    if isinstance(x, Mapping):
        for v in x.values():
            yield from _leaves(v)
    elif isinstance(x, tuple | list):
        for v in x:
            yield from _leaves(v)
    else:
        yield x


def assert_equal_transitions(a: Any, b: Any, path: str = "") -> None:
    """Deep equality for observations / infos (arrays exactly equal, NaN==NaN)."""
    if isinstance(a, Mapping):
        assert isinstance(b, Mapping) and set(a) == set(b), f"{path}: keys differ {set(a) ^ set(b)}"
        for k in a:
            assert_equal_transitions(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, tuple | list):
        assert len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_equal_transitions(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=path)
    elif isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def masked_vector_actions(env: Any, masks: np.ndarray, rng: np.random.Generator, k: int) -> np.ndarray:
    """Random valid actions of a vector env with a MultiDiscrete single action space, one
    per row of ``masks`` (``k``: the step, unused; see :func:`compare_vector_with_sync`)."""
    return np.stack([sample_valid_action(env.single_action_space, m, rng) for m in masks])


def check_native_vector_spaces(env_id: str, vector_cls: type, n: int = 3) -> Any:
    """``gym.make_vec(..., "vector_entry_point")`` gives ``vector_cls`` with the single env's
    spaces batched, (n, sum(nvec)) masks and NEXT_STEP autoreset; returns the reset info."""
    from gymnasium.vector import AutoresetMode

    env = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")
    assert isinstance(env.unwrapped, vector_cls) and env.num_envs == n
    single = gym.make(env_id)
    assert env.single_action_space == single.action_space
    assert env.single_observation_space == single.observation_space
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert env.action_space.shape == (n, single.action_space.shape[0])
    assert env.unwrapped.action_masks().shape == (n, int(single.action_space.nvec.sum()))
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    return info


def compare_vector_with_sync(env_id: str, n: int, steps: int, seed: int,
                             resets: Mapping[int, np.ndarray] | None = None,
                             actions: Callable[..., np.ndarray] = masked_vector_actions,
                             **config: Any) -> int:
    """Step the id's native vector env and a SyncVectorEnv of its single envs side by side
    with the same actions (``actions(native, masks, rng, k)``; ``resets[k]``: a reset mask
    applied before step k); every observation, reward, flag, info and mask must be equal.
    Returns the number of episodes that ended."""
    native = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", **config)
    sync = gym.make_vec(env_id, num_envs=n, vectorization_mode="sync", **config)
    assert_equal_transitions(native.reset(seed=seed), sync.reset(seed=seed), "reset")
    rng = np.random.default_rng(seed)
    episodes = 0
    for k in range(steps):
        if resets and k in resets:
            opts = {"reset_mask": resets[k]}
            assert_equal_transitions(native.reset(options=dict(opts)), sync.reset(options=dict(opts)),
                                     f"masked reset before step {k}")
        masks = native.unwrapped.action_masks()
        np.testing.assert_array_equal(masks, np.stack([e.unwrapped.action_masks() for e in sync.unwrapped.envs]))
        chosen = actions(native, masks, rng, k)
        a, b = native.step(chosen), sync.step(chosen)
        assert_equal_transitions(a, b, f"step {k}")
        episodes += int(np.sum(a[2] | a[3]))
    native.close()
    sync.close()
    return episodes


def check_determinism(env_id: str, seed: int = 0, n_steps: int = 200, **config: Any) -> None:
    """Same seed and actions ⇒ identical trajectory; a different seed ⇒ a different one."""
    first = rollout(make(env_id, **config), seed, n_steps)
    second = rollout(make(env_id, **config), seed, n_steps)
    assert_equal_transitions(first, second, f"{env_id} seed {seed}")
    other = rollout(make(env_id, **config), seed + 1, n_steps)
    differs = any(
        not np.array_equal(np.asarray(x[0]), np.asarray(y[0])) if not isinstance(x[0], Mapping)
        else any(not np.array_equal(x[0][k], y[0][k]) for k in x[0])
        for x, y in zip(first, other))
    assert differs, f"{env_id}: seeds {seed} and {seed + 1} gave identical observations"


def check_pickle(env_id: str, seed: int = 0, n_steps: int = 20, **config: Any) -> None:
    """An env pickled mid-episode continues exactly like the original."""
    env = make(env_id, **config)
    rng = np.random.default_rng(1)
    env.reset(seed=seed)
    for _ in range(n_steps // 2):
        _, _, term, trunc, _ = env.step(random_valid_action(env, rng))
        if term or trunc:
            env.reset()
    clone = pickle.loads(pickle.dumps(env))
    for t in range(n_steps // 2):
        action = random_valid_action(env, rng)
        a = env.step(action)
        b = clone.step(action)
        assert_equal_transitions(a, b, f"{env_id} after unpickle, step {t}")
        if a[2] or a[3]:
            break


def check_masks(env_id: str, seed: int = 0, n_steps: int = 200, **config: Any) -> None:
    """``action_masks()`` has the MaskablePPO length and always allows some action."""
    env = make(env_id, **config)
    space = env.action_space
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(n_steps):
        mask = get_action_masks(env)
        assert mask is not None, f"{env_id}: no action_masks()"
        if isinstance(space, gym.spaces.MultiDiscrete):
            assert mask.shape == (int(space.nvec.sum()),)
            offset = 0
            for n in space.nvec:
                assert mask[offset : offset + n].any(), "a MultiDiscrete dimension is fully masked"
                offset += n
        elif isinstance(space, gym.spaces.Discrete):
            assert mask.shape == (space.n,) and mask.any()
        _, _, term, trunc, _ = env.step(random_valid_action(env, rng))
        if term or trunc:
            env.reset()


def check_render(env_id: str, seed: int = 0, **config: Any) -> np.ndarray:
    env = make(env_id, render_mode="rgb_array", **config)
    env.reset(seed=seed)
    env.step(random_valid_action(env, np.random.default_rng(0)))
    frame = env.render()
    assert isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3, "render: not RGB"
    assert frame.dtype == np.uint8 and frame.std() > 0, "render: blank frame"
    env.close()
    return frame


def check_bad_config(env_id: str, field: str, value: Any) -> None:
    """``gym.make(env_id, field=value)`` raises ValueError whose message names ``field``."""
    try:
        gym.make(env_id, **{field: value})
    except ValueError as err:
        assert field in str(err), f"{field}={value!r}: error does not name the field: {err}"
        return
    raise AssertionError(f"{env_id}: {field}={value!r} was accepted")


def check_all(env_id: str, n_steps: int = 500, **config: Any) -> None:
    """Contract, determinism, pickling and a random masked rollout — the standard battery."""
    check_contract(env_id, **config)
    check_determinism(env_id, n_steps=min(n_steps, 200), **config)
    check_pickle(env_id, **config)
    rollout(make(env_id, **config), seed=0, n_steps=n_steps)
