"""Running the cluster (CONTRACT §10): start, stop, restart, status, rolling-restart and drain of the
nodes' servers with the product's own start script. `server` is one node's server over the run's
connection; `balancer` the lb hosts' `down` marks, drain markers and which workers serve (nginx's
upstream lines are formats/nginxconf.py, pure); `commands` orders the nodes and reports; `status` is
the read-only status task (membership, restart needed, the balancer's view); `roll` is
rolling-restart (its checks before anything stops, its turns, the recovery it prints); `rotation`
rotate-passwords."""
