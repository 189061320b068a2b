"""Probes: read-only facts of nodes and checks from them, never a change.

- facts.py: one node's clustering, DepSync, registry and datasource values as its files hold them,
  the balancer's routes; consistency.py: the cluster checks across nodes' facts;
- live.py: `verify --live`, the checks from each node's own network position
  (database, driver, svn, java, members, balancer), over svnwire.py (the svn protocol)
  and http.py (a request through a channel).
"""
