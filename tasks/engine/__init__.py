"""The engine: what runs steps over hosts whatever the step is.

- runner.py: the Session (one connection per host for the whole command line, hosts in parallel);
- context.py: what a step, probe or record is handed (StepContext, StepError);
- plan.py, ops.py: a plan as data, its records, and the one
  applier; mode.py: patch, verify, dry-run;
- report.py, table.py: the one reporter (text, JSON, the verify table); stats.py: the run's counts;
- runstate.py, runkey.py, deadline.py, targets.py: a run's state file, its signing key, the watchdog
  of every remote operation, the hosts a command line selects.
"""
