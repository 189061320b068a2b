"""Commands: what a command line asks for, on top of the engine and the steps.

- rollout.py: setup-manager, setup-worker, setup-cluster and the single steps in order;
- verify.py: the drift report (with --live); diagram.py: the picture of the cluster;
- rollback.py: a run's backups put back, through a node's links never outside the managed roots;
- nextsteps.py: what to run next; lifecycle/: start, stop, status,
  restarts, rotation (CONTRACT §10).
"""
