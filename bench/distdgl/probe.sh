#!/bin/bash
# DistDGL probe (DGL 2.1, torch 2.13, localhost): partition digits into 2 parts, start one server per
# part and two trainer clients (torch.distributed gloo), sample 2-layer neighbour blocks of each
# client's seeds. Run from the repository root: bash bench/distdgl/probe.sh; logs in $DIR.
# Result on 2026-12-04: see docs/scale.md ("DistDGL").
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${DIR:-$(mktemp -d /tmp/distdgl.XXXX)}
cd "$DIR"
OMP_NUM_THREADS=1 python "$HERE/partition.py" "$DIR/parts" > partition.log 2>&1 || { tail -5 partition.log; exit 1; }
printf "127.0.0.1 30050\n127.0.0.1 30060\n" > ip_config.txt
COMMON="DGL_IP_CONFIG=$DIR/ip_config.txt DGL_NUM_SERVER=1 DGL_NUM_CLIENT=2 DGL_CONF_PATH=$DIR/parts/digits.json DGL_GRAPH_FORMAT=csc DGL_KEEP_ALIVE=0 OMP_NUM_THREADS=1 DGL_DIST_MODE=distributed"
for s in 0 1; do env $COMMON DGL_ROLE=server DGL_SERVER_ID=$s python "$HERE/node.py" server "$DIR" > server$s.log 2>&1 & done
sleep 5
for r in 0 1; do env $COMMON DGL_ROLE=client DGL_NUM_SAMPLER=0 DGL_GROUP_ID=0 timeout 120 python "$HERE/node.py" client "$DIR" $r > client$r.log 2>&1 & done
wait
for f in client0 client1 server0 server1; do echo "== $f"; grep -v -e '^\s*$' -e Interface -e 'IP address not' $f.log | tail -n 3; done
