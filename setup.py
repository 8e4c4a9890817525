"""Maps the top-level folders onto the one ``swapgym`` namespace (see pyproject.toml).

``envs/`` becomes ``swapgym.envs``, ``baselines/`` becomes ``swapgym.baselines`` and so on,
so nothing generic is installed at top level. setuptools cannot express the prefix in
pyproject.toml alone, hence this small file.
"""

from setuptools import find_packages, setup

FOLDERS = {"swapgym": "swapgym", "envs": "swapgym.envs", "baselines": "swapgym.baselines",
           "agents": "swapgym.agents", "train": "swapgym.train", "benchmarks": "swapgym.benchmarks"}

package_dir = {}
packages = []
for folder, name in FOLDERS.items():
    package_dir[name] = folder
    packages.append(name)
    for sub in find_packages(folder):
        packages.append(f"{name}.{sub}")

setup(package_dir=package_dir, packages=packages)
