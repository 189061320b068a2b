"""Running the cluster (CONTRACT §10): start, stop, restart, status and rolling-restart of the
nodes' servers with the product's own start script. `logs` and `upstreams` are pure (Carbon's log
lines, nginx's upstream lines); `server` is one node's server over the run's connection;
`commands` orders the nodes and reports."""
