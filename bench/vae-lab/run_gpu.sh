#!/usr/bin/env bash
# Runs many VAE designs side by side on one GPU for B seconds each; logs to $OUT.
B=${1:-360}
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader
run() { python3 bench/vae-lab/vae_lab.py "$1" $B "$2" > /dev/null 2>$OUT/$1.err & }
run A_sd        '{"stem":1,"enc":[16,32,64,64]}'
run A_sd_plain  '{"stem":1,"enc":[16,32,64,64],"shortcut":false}'
run A_sd_pick4  '{"stem":1,"enc":[16,32,64,64],"pick":4}'
run B_p4        '{"stem":4,"enc":[64,128],"tdown":[0,1],"norm":"none","zero_res":true}'
run B_p4_group  '{"stem":4,"enc":[64,128],"tdown":[0,1]}'
run B_p4_plain  '{"stem":4,"enc":[64,128],"tdown":[0,1],"norm":"none","zero_res":true,"shortcut":false}'
run B_p4_pick4  '{"stem":4,"enc":[64,128],"tdown":[0,1],"norm":"none","zero_res":true,"pick":4}'
run B_p4_edge   '{"stem":4,"enc":[64,128],"tdown":[0,1],"norm":"none","zero_res":true,"edge_w":20}'
run B_p4_z8     '{"stem":4,"enc":[64,128],"tdown":[0,1],"norm":"none","zero_res":true,"z":8}'
run B_p4_z4     '{"stem":4,"enc":[64,128],"tdown":[0,1],"norm":"none","zero_res":true,"z":4}'
run B_p4_c32    '{"stem":4,"enc":[64,128],"tdown":[0,1],"norm":"none","zero_res":true,"crop":32,"batch":32}'
run B_p4_lr3    '{"stem":4,"enc":[64,128],"tdown":[0,1],"norm":"none","zero_res":true,"lr":3e-3}'
run C_p2        '{"stem":2,"enc":[32,64,128],"tdown":[1,2],"norm":"none","zero_res":true}'
run C_p2_group  '{"stem":2,"enc":[32,64,128],"tdown":[1,2]}'
sleep 60; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
wait
tail -n 3 $OUT/*.log; cat $OUT/*.err | grep -v Warning | tail -20
