#!/bin/sh
# Sample start script (made by this project, not WSO2's): the shape of Carbon 4.4's bin/wso2server.sh that the
# project relies on: --start under nohup, --stop by TERM to wso2carbon.pid, the exit-121 restart loop, and the
# java command line ending in -DworkerNode=false (set-worker-profile edits that token).
PRGDIR=`dirname "$0"`
[ -z "$CARBON_HOME" ] && CARBON_HOME=`cd "$PRGDIR/.." ; pwd`
JAVACMD="$JAVA_HOME/bin/java"
if [ ! -x "$JAVACMD" ] ; then
  echo "Error: JAVA_HOME is not defined correctly."
  exit 1
fi
if [ -e "$CARBON_HOME/wso2carbon.pid" ]; then
  PID=`cat "$CARBON_HOME"/wso2carbon.pid`
fi
args=""
for c in $*
do
    if [ "$c" = "--stop" ] || [ "$c" = "-stop" ] || [ "$c" = "stop" ]; then
          CMD="stop"
    elif [ "$c" = "--start" ] || [ "$c" = "-start" ] || [ "$c" = "start" ]; then
          CMD="start"
    else
        args="$args $c"
    fi
done
if [ "$CMD" = "start" ]; then
  if [ -e "$CARBON_HOME/wso2carbon.pid" ]; then
    if  ps -p $PID > /dev/null ; then
      echo "Process is already running"
      exit 0
    fi
  fi
  export CARBON_HOME=$CARBON_HOME
  nohup sh $CARBON_HOME/bin/wso2server.sh $args > /dev/null 2>&1 &
  exit 0
elif [ "$CMD" = "stop" ]; then
  export CARBON_HOME=$CARBON_HOME
  kill -term `cat $CARBON_HOME/wso2carbon.pid`
  exit 0
fi
cd "$CARBON_HOME"
START_EXIT_STATUS=121
status=$START_EXIT_STATUS
while [ "$status" = "$START_EXIT_STATUS" ]
do
    $JAVACMD \
    -Xms256m -Xmx1024m \
    $JAVA_OPTS \
    -Dcarbon.home="$CARBON_HOME" \
    -Dcarbon.config.dir.path="$CARBON_HOME/repository/conf" \
    -Dfile.encoding=UTF8 \
    -Djava.net.preferIPv4Stack=true \
    -DworkerNode=false \
    org.wso2.carbon.bootstrap.Bootstrap $*
    status=$?
done
