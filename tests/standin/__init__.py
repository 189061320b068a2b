"""Stand-ins for what cannot run here: a JDK 1.8 and a Carbon 4.4 server (tests/standin/carbon.py)."""
