#!/usr/bin/env bash
B=${1:-220}
run() { python3 bench/vae-lab/vae_lab.py "$1" $B "$2" > /dev/null 2>/tmp/$1.err & }
run C_pick       '{"stem":2,"enc":[32,64,128],"tdown":[1,2],"norm":"none","zero_res":true,"pick":4,"eval_every":250}'
run C_pick_lr2   '{"stem":2,"enc":[32,64,128],"tdown":[1,2],"norm":"none","zero_res":true,"pick":4,"lr":2e-3,"eval_every":250}'
run C_pick_z8    '{"stem":2,"enc":[32,64,128],"tdown":[1,2],"norm":"none","zero_res":true,"pick":4,"z":8,"eval_every":250}'
run C_pick_group '{"stem":2,"enc":[32,64,128],"tdown":[1,2],"pick":4,"eval_every":250}'
run C_pick_b2    '{"stem":2,"enc":[32,64,128],"tdown":[1,2],"norm":"none","zero_res":true,"pick":4,"blocks":2,"eval_every":250}'
wait
tail -n 4 /tmp/*.err | grep -v Warn | tail -20
