"""The guide's steps, in guide order (CONTRACT §2). Each module holds one step and its pure planners."""
from __future__ import annotations

from .axis2 import PatchAxis2
from .carbon import EnableDepsync, SetHostnames
from .catalina import SetProxyPorts
from .certs import CreateCerts
from .databases import CreateDbs
from .base import Step
from .datasources import ConfigureDatasources
from .hostsfile import MapHosts
from .jars import InstallJdbcDriver, InstallSvnkit
from .loadbalancer import ConfigureLb
from .registry import MountRegistry
from .svnrepo import CreateSvnRepo

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
    ConfigureLb(),
]


def by_name(name: str) -> Step:
    for s in STEPS:
        if s.name == name:
            return s
    raise KeyError(name)
