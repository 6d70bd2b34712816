# VAE design lab: causal video autoencoders trained on world clips, many designs side by side.
# usage: python3 vae_lab.py NAME SECONDS JSON_OVERRIDES  (data in bench/vae-lab/data/{train,test,test160}.npz)
import json, math, os, sys, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F

dev = 'cuda' if torch.cuda.is_available() else 'cpu'
torch.backends.cudnn.benchmark = True
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True

cfg = dict(stem=1, enc=[16, 32, 64, 64], dec=None, blocks=1, norm='group', groups=8, z=16, shortcut=True,
           tdown=[1, 2], loss='mse', lr=1e-3, batch=8, crop=64, frames=9, warmup=200, steps=100000,
           kl=1e-6, pick=1, zero_res=False, l1w=0.0, seed=0, eval_every=500, edge_w=0.0)
cfg.update(json.loads(sys.argv[3]) if len(sys.argv) > 3 else {})
name, budget = sys.argv[1], float(sys.argv[2])
torch.manual_seed(cfg['seed'])
out_dir = os.environ.get('OUT', '/tmp/labout')
os.makedirs(out_dir, exist_ok=True)
log = open(f'{out_dir}/{name}.log', 'w')
def say(*a):
    s = ' '.join(str(x) for x in a); print(name, s, flush=True); log.write(s + '\n'); log.flush()
say('cfg', json.dumps(cfg))

class CConv(nn.Module):  # causal in time: kt - 1 zero frames in front; space padded k // 2
    def __init__(s, ci, co, k=3, st=1, ss=1):
        super().__init__(); s.kt = k if isinstance(k, int) else k[0]
        kk = (k, k, k) if isinstance(k, int) else k
        s.conv = nn.Conv3d(ci, co, kk, (st, ss, ss), (0, kk[1] // 2, kk[2] // 2))
    def forward(s, x):
        if s.kt > 1: x = F.pad(x, (0, 0, 0, 0, s.kt - 1, 0))
        return s.conv(x)

class FNorm(nn.Module):  # per-frame group norm, or identity
    def __init__(s, c):
        super().__init__(); s.n = nn.GroupNorm(min(cfg['groups'], c), c, eps=1e-6) if cfg['norm'] == 'group' else None
    def forward(s, x):
        if s.n is None: return x
        b, c, t, h, w = x.shape
        y = s.n(x.transpose(1, 2).reshape(b * t, c, h, w))
        return y.reshape(b, t, c, h, w).transpose(1, 2)

class Res(nn.Module):
    def __init__(s, ci, co):
        super().__init__()
        s.n1, s.c1, s.n2, s.c2 = FNorm(ci), CConv(ci, co), FNorm(co), CConv(co, co)
        s.sc = CConv(ci, co, 1) if ci != co else None
        if cfg['zero_res']: nn.init.zeros_(s.c2.conv.weight); nn.init.zeros_(s.c2.conv.bias)
    def forward(s, x):
        h = s.c2(F.silu(s.n2(s.c1(F.silu(s.n1(x))))))
        return (s.sc(x) if s.sc is not None else x) + h

def s2d(x, p):  # (B, C, T, H, W) -> (B, C p p, T, H/p, W/p)
    if p == 1: return x
    b, c, t, h, w = x.shape
    return x.reshape(b, c, t, h // p, p, w // p, p).permute(0, 1, 4, 6, 2, 3, 5).reshape(b, c * p * p, t, h // p, w // p)
def d2s(x, p):
    if p == 1: return x
    b, cpp, t, h, w = x.shape; c = cpp // (p * p)
    return x.reshape(b, c, p, p, t, h, w).permute(0, 1, 4, 5, 2, 6, 3).reshape(b, c, t, h * p, w * p)

def area_means(x, f, k):  # shortcut means: frame 0 alone, then groups of k frames
    pooled = F.avg_pool3d(x, (1, f, f))
    head, rest = pooled[:, :, :1], pooled[:, :, 1:]
    if rest.shape[2] == 0: return head
    return torch.cat([head, F.avg_pool3d(rest, (k, 1, 1))], 2)
def repeat_means(z, f, k):
    up = F.interpolate(z[:, :3], scale_factor=(k, f, f), mode='nearest')
    return up[:, :, k - 1:]

P, ENC = cfg['stem'], cfg['enc']
DEC = cfg['dec'] or ENC
L = len(ENC)
assert P * 2 ** (L - 1) == 8, 'stem x 2^(levels-1) must be 8'
TD = cfg['tdown']  # transitions (after level i) that also halve time; i == L-1 means a time-only step at the last level

class Enc(nn.Module):
    def __init__(s):
        super().__init__()
        s.cin = CConv(3 * P * P, ENC[0])
        s.levels = nn.ModuleList()
        for i in range(L):
            blocks = [Res(ENC[max(i - 1, 0)] if j == 0 else ENC[i], ENC[i]) for j in range(cfg['blocks'])]
            down = None
            if i < L - 1: down = CConv(ENC[i], ENC[i], 3, 2 if i in TD else 1, 2)
            elif i in TD: down = CConv(ENC[i], ENC[i], 3, 2, 1)
            s.levels.append(nn.ModuleList([nn.Sequential(*blocks), down if down is not None else nn.Identity()]))
        s.mid = nn.Sequential(Res(ENC[-1], ENC[-1]))
        s.nout, s.cout = FNorm(ENC[-1]), CConv(ENC[-1], 2 * cfg['z'])
        if cfg['shortcut']: nn.init.zeros_(s.cout.conv.weight); nn.init.zeros_(s.cout.conv.bias)
    def forward(s, x):
        h = s.cin(s2d(x, P))
        for blocks, down in s.levels: h = down(blocks(h))
        m = s.cout(F.silu(s.nout(s.mid(h))))
        if cfg['shortcut']:
            mm = area_means(x, 8, 4)
            m = m + F.pad(mm, (0, 0, 0, 0, 0, 0, 0, m.shape[1] - 3))
        return m

class Up(nn.Module):
    def __init__(s, ci, co, time, space):
        super().__init__(); s.time, s.space = time, space; s.conv = CConv(ci, co)
    def forward(s, x):
        x = F.interpolate(x, scale_factor=(2 if s.time else 1, 2 if s.space else 1, 2 if s.space else 1), mode='nearest')
        if s.time: x = x[:, :, 1:]
        return s.conv(x)

class Dec(nn.Module):
    def __init__(s):
        super().__init__()
        s.cin = CConv(cfg['z'], DEC[-1])
        s.mid = nn.Sequential(Res(DEC[-1], DEC[-1]))
        s.tonly = Up(DEC[-1], DEC[-1], True, False) if (L - 1) in TD else None  # mirrors the encoder's time-only step
        s.levels = nn.ModuleList()
        for i in reversed(range(L)):
            blocks = [Res(DEC[i], DEC[i]) for j in range(cfg['blocks'] + 1)]
            up = Up(DEC[i], DEC[i - 1], (i - 1) in TD, True) if i > 0 else None
            s.levels.append(nn.ModuleList([nn.Sequential(*blocks), up if up is not None else nn.Identity()]))
        s.nout, s.cout = FNorm(DEC[0]), CConv(DEC[0], 3 * P * P)
        if cfg['shortcut']: nn.init.zeros_(s.cout.conv.weight); nn.init.zeros_(s.cout.conv.bias)
    def forward(s, z):
        h = s.mid(s.cin(z))
        if s.tonly is not None: h = s.tonly(h)
        for blocks, up in s.levels: h = up(blocks(h))
        y = d2s(s.cout(F.silu(s.nout(h))), P)
        if cfg['shortcut']: y = y + repeat_means(z, 8, 4)
        return y

enc, dec = Enc().to(dev), Dec().to(dev)
params = list(enc.parameters()) + list(dec.parameters())
say('params', sum(p.numel() for p in params))

def load(n):
    a = np.load(f'bench/vae-lab/data/{n}.npz')['a']
    return torch.from_numpy(a).to(dev)  # (N, T, H, W, 3) uint8
train, test, test160 = load('train'), load('test'), load('test160')
def to_video(u8): return u8.permute(0, 4, 1, 2, 3).float() / 127.5 - 1  # (B, 3, T, H, W)

# multiply-adds per training sample (crop x frames), counted with hooks
macs = [0]
def hook(m, i, o): macs[0] += o.numel() * m.weight[0].numel()
hs = [m.register_forward_hook(hook) for m in list(enc.modules()) + list(dec.modules()) if isinstance(m, nn.Conv3d)]
with torch.no_grad():
    x0 = torch.zeros(1, 3, cfg['frames'], cfg['crop'], cfg['crop'], device=dev); dec(enc(x0)[:, :cfg['z']])
    m_train = macs[0]; macs[0] = 0
    x0 = torch.zeros(1, 3, 17, 128, 128, device=dev); dec(enc(x0)[:, :cfg['z']])
    m_clip = macs[0]
for h in hs: h.remove()
say(f'gmac_per_train_sample {m_train/1e9:.3f} gmac_clip_128x17 {m_clip/1e9:.2f} '
    f'gflop_per_step(train, x3 fwd) {3*2*m_train*cfg["batch"]/1e9:.1f}')

opt = torch.optim.AdamW(params, lr=cfg['lr'], weight_decay=0.0, betas=(0.9, 0.99))
def lr_at(step, total):
    if step < cfg['warmup']: return cfg['lr'] * (step + 1) / cfg['warmup']
    return cfg['lr'] * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1, (step - cfg['warmup']) / max(1, total - cfg['warmup'])))))

def batch(g):
    n, T, H, W, _ = train.shape
    B, c, fr, k = cfg['batch'], cfg['crop'], cfg['frames'], cfg['pick']
    idx = torch.randint(0, n, (B * k,), generator=g, device='cpu')
    t0 = torch.randint(0, T - fr + 1, (B * k,), generator=g)
    y0 = torch.randint(0, H - c + 1, (B * k,), generator=g); x0 = torch.randint(0, W - c + 1, (B * k,), generator=g)
    crops = torch.stack([train[idx[i], t0[i]:t0[i] + fr, y0[i]:y0[i] + c, x0[i]:x0[i] + c] for i in range(B * k)])
    v = to_video(crops)
    if k > 1:  # keep the crop with the most edge content of each k
        e = (v[:, :, :, 1:, :] - v[:, :, :, :-1, :]).abs().mean((1, 2, 3, 4)) + (v[..., 1:] - v[..., :-1]).abs().mean((1, 2, 3, 4))
        e = e.view(B, k); best = e.argmax(1) + torch.arange(B, device=dev) * k
        v = v[best]
    return v

def psnr(a, b): return 10 * math.log10(4.0 / F.mse_loss(a.clamp(-1, 1), b).item())
def ssim_y(a, b):  # luma SSIM, 7x7 box window, per frame
    def luma(v): return (0.299 * v[:, 0] + 0.587 * v[:, 1] + 0.114 * v[:, 2]).flatten(0, 1).unsqueeze(1) * 127.5 + 127.5
    x, y = luma(a.clamp(-1, 1)), luma(b)
    mu = lambda t: F.avg_pool2d(t, 7, 1)
    mx, my = mu(x), mu(y); sx = mu(x * x) - mx ** 2; sy = mu(y * y) - my ** 2; sxy = mu(x * y) - mx * my
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    return (((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (sx + sy + c2))).mean().item()

def evaluate():
    enc.eval(); dec.eval(); r = {}
    with torch.no_grad():
        for nm, d in (('t128', test), ('t160', test160)):
            ps, ss = [], []
            for i in range(0, len(d), 8):
                v = to_video(d[i:i + 8]); rec = dec(enc(v)[:, :cfg['z']])
                ps.append(F.mse_loss(rec.clamp(-1, 1), v).item()); ss.append(ssim_y(rec, v))
            r[nm] = (10 * math.log10(4 / np.mean(ps)), float(np.mean(ss)))
    enc.train(); dec.train(); return r

g = torch.Generator().manual_seed(cfg['seed'])
t_start = time.time(); step = 0; run_loss = 0; total = cfg['steps']
est_total = None
while True:
    el = time.time() - t_start
    if el > budget or step >= total: break
    if step == 50: est_total = int(budget / (el / 50))
    for gr in opt.param_groups: gr['lr'] = lr_at(step, min(total, est_total or total))
    v = batch(g)
    m = enc(v); z = m[:, :cfg['z']]; logv = m[:, cfg['z']:].clamp(-30, 20)
    rec = dec(z)
    err = rec - v
    if cfg['edge_w'] > 0:
        base = repeat_means(area_means(v, 8, 4), 8, 4)
        w = 1 + cfg['edge_w'] * (v - base).abs().mean(1, keepdim=True)
        rl = (w * err * err).mean() / w.mean()
    else:
        rl = (err * err).mean() if cfg['loss'] == 'mse' else err.abs().mean()
    if cfg['l1w'] > 0: rl = rl + cfg['l1w'] * err.abs().mean()
    kl = 0.5 * (z * z + logv.exp() - 1 - logv).sum() / v.shape[0]
    loss = rl + cfg['kl'] * kl * v.shape[0] / v.numel()
    opt.zero_grad(set_to_none=True); loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step(); step += 1; run_loss += rl.item() if step % 50 == 0 else 0
    if step % cfg['eval_every'] == 0 or step in (100, 250):
        r = evaluate()
        say(f'step {step} t {time.time()-t_start:.0f}s train_psnr {psnr(rec.detach(), v):.2f} '
            f'test128 {r["t128"][0]:.2f} ssim {r["t128"][1]:.4f} test160 {r["t160"][0]:.2f} ssim {r["t160"][1]:.4f}')
r = evaluate()
say(f'final step {step} t {time.time()-t_start:.0f}s test128 {r["t128"][0]:.2f} ssim {r["t128"][1]:.4f} '
    f'test160 {r["t160"][0]:.2f} ssim {r["t160"][1]:.4f}')
