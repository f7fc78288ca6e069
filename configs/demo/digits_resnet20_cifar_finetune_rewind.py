# Fine-tuning an export with learning-rate rewinding (Renda et al. 2020; a retraining schedule of
# Le & Hua, "Network pruning that matters"): the baseline's own cosine schedule (lr 0.05 over 400
# iterations, digits_resnet20_cifar_baseline.py) replayed from iteration 400 − max_iters, instead
# of the small cosine rate of digits_resnet20_cifar_finetune.py.
_base_ = ['./digits_resnet20_cifar_finetune.py']
optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [dict(type='RewoundCosineLR', T_max=400, rewind=200, by_epoch=False)]
train_cfg = dict(max_iters=200, val_interval=200)
