"""The guide's steps, in guide order (CONTRACT §2). Each module holds one step and its pure planners; this
module is the step registry, all the commands import of the steps: STEPS, by_name, RETIRE_OLD and
rotate_keystore_step."""
from __future__ import annotations

from .adminpass import SetAdminPassword
from .axis2 import PatchAxis2
from .carbon import EnableDepsync, SetHostnames
from .catalina import SetProxyPorts
from .certs import CreateCerts
from .databases import CreateDbs, RetireOldPassword
from .base import Step
from .datasources import ConfigureDatasources
from .hostsfile import MapHosts
from .jars import InstallJdbcDriver, InstallSvnkit
from .keystore import CreateKeystore, RotateKeystore
from .loadbalancer import ConfigureLb
from .profile import SetWorkerProfile
from .registry import MountRegistry
from .svnrepo import CreateSvnRepo
from .vault import SecureVault

#: every step, in the order setup runs them
STEPS: list[Step] = [
    CreateCerts(),
    MapHosts(),
    InstallJdbcDriver(),
    CreateDbs(),
    ConfigureDatasources(),
    MountRegistry(),
    CreateSvnRepo(),
    InstallSvnkit(),
    EnableDepsync(),
    PatchAxis2(),
    SetHostnames(),
    SetProxyPorts(),
    SetWorkerProfile(),
    SetAdminPassword(),  # the hardening steps (CONTRACT §8): in setup-* when [security] says so
    CreateKeystore(),
    SecureVault(),  # last of the node steps: it moves what the others wrote into Secure Vault
    ConfigureLb(),
]


#: create-dbs as rotate-passwords ends it: it also retires the older password (not in STEPS: setup never runs it)
RETIRE_OLD: Step = RetireOldPassword()


def rotate_keystore_step(force: bool = False) -> Step:
    """rotate-keystore's step (not in STEPS: setup never runs it): create-keystore that also renews a key
    expiring within 30 days, any key with `force`. A new one per call: `force` is this run's."""
    step = RotateKeystore()
    step.force = force
    return step


def by_name(name: str) -> Step:
    """The step of STEPS with this name; KeyError when there is none."""
    for s in STEPS:
        if s.name == name:
            return s
    raise KeyError(name)
