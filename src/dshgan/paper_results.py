"""Published MAP numbers we compare against, with where they come from.

CIFAR-10 (whole-database MAP, 1,000 queries, 5,000 labelled) as in Qiu et al., SIGIR 2017,
Table 2, reproduced in Luo et al., "A Survey on Deep Hashing Methods" (TKDD 2023), Table 4.
NUS-WIDE (21 concepts, MAP@5,000) from Qiu et al., SIGIR 2017.
"""

CIFAR10 = {
    "DSH-GANs": {12: 0.735, 24: 0.781, 32: 0.787, 48: 0.802},
    "DPSH": {12: 0.713, 24: 0.727, 32: 0.744, 48: 0.757},
    "DRSCH": {12: 0.614, 24: 0.621, 32: 0.628, 48: 0.630},
    "DSRH": {12: 0.608, 24: 0.610, 32: 0.617, 48: 0.617},
    "DNNH": {12: 0.552, 24: 0.566, 32: 0.558, 48: 0.581},
    "CNNH": {12: 0.439, 24: 0.511, 32: 0.509, 48: 0.522},
    "KSH": {12: 0.303, 24: 0.337, 32: 0.346, 48: 0.356},
    "SDH": {12: 0.285, 24: 0.329, 32: 0.341, 48: 0.356},
    "ITQ": {12: 0.127, 24: 0.128, 32: 0.126, 48: 0.129},
}

NUSWIDE21 = {
    "DSH-GANs": {12: 0.838, 24: 0.856, 32: 0.861, 48: 0.863},
}

PAPER_TABLES = {"cifar10": CIFAR10, "nuswide21": NUSWIDE21}
