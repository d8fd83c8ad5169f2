# no repro script for 20261202-153030-cccc3d/gw1/199: record 20261202-153030-cccc3d/gw1/199 carries no inputs: passing examples keep them only when small; rerun its target with --seed 1 to get them
