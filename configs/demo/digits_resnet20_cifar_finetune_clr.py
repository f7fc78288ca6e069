# Fine-tuning an export with a one-cycle learning rate (CLR, as in Le & Hua, "Network pruning
# that matters"): the rate climbs to the baseline's 0.05 and anneals to zero, instead of the
# small constant-then-cosine rate of digits_resnet20_cifar_finetune.py.
_base_ = ['./digits_resnet20_cifar_finetune.py']
param_scheduler = [dict(type='OneCycleLR', eta_max=0.05, total_steps=200, pct_start=0.25,
                        by_epoch=False)]
