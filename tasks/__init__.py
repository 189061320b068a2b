"""WSO2 ESB 4.9.0 cluster guide as Fabric/Invoke tasks: one task per guide step, plus rollouts and
the lifecycle commands. Importing a module of this package loads only what that module needs: the
task collection `fab` shows is built by fabfile.py (tasks.cli.build_collection)."""
