# y4m (C444, full range BT.601, as Spacetime writes it) folder -> uint8 array (N, T, H, W, 3)
import sys, glob, numpy as np
def read(p):
    d = open(p, 'rb').read()
    head, rest = d.split(b'\n', 1)
    f = dict((t[0:1].decode(), t[1:].decode()) for t in head.split()[1:])
    w, h = int(f['W']), int(f['H'])
    frames = []
    n = 3 * w * h
    while rest.startswith(b'FRAME'):
        _, rest = rest.split(b'\n', 1)
        yuv = np.frombuffer(rest[:n], np.uint8).reshape(3, h, w).astype(np.float64)
        rest = rest[n:]
        y, cb, cr = yuv[0], yuv[1] - 128, yuv[2] - 128
        r = y + cr * 0.701 / 0.5
        b = y + cb * 0.886 / 0.5
        g = (y - 0.299 * r - 0.114 * b) / 0.587
        frames.append(np.clip(np.rint(np.stack([r, g, b], -1)), 0, 255).astype(np.uint8))
    return np.stack(frames)
files = sorted(glob.glob(sys.argv[1] + '/clips/*.y4m'))
arr = np.stack([read(p) for p in files])
print(arr.shape)
np.save(sys.argv[2], arr)
