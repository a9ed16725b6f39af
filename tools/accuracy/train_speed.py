#!/usr/bin/env python3
"""The PyTorch side of the training-speed comparison (docs/accuracy.md).

Trains the network that gridcast's trainer trains in the speed experiment
of gridcast-accuracy-bench -- the perceptron over an instance-scaled window
of 336 loads and the calendar inputs, hidden layers 256 and 256, a horizon
of 96 -- with the same batch size, optimiser, epoch structure (a shuffled
pass of Adam steps, then the validation windows forward in chunks of 1024)
and thread count, on tensors of the same shapes. Prints samples per second
of the training pass.

Usage: train_speed.py --threads N --epochs E
"""
import argparse
import time

import torch

WINDOW, HORIZON, HIDDEN, BATCH = 336, 96, 256, 64
TRAIN_WINDOWS = 8640 - WINDOW - HORIZON + 1
VALIDATION_WINDOWS = 2880 - HORIZON + 1
PAST_CHANNELS, FUTURE_CHANNELS = 6, 5  # load + calendar; calendar


class Perceptron(torch.nn.Module):
    def __init__(self):
        super().__init__()
        inputs = WINDOW + 4 + HORIZON
        self.layers = torch.nn.ModuleList([
            torch.nn.Linear(inputs, HIDDEN),
            torch.nn.Linear(HIDDEN, HIDDEN),
            torch.nn.Linear(HIDDEN, HORIZON),
        ])

    def forward(self, past, future):
        load = past[:, :, 0]
        mean = load.mean(1, keepdim=True)
        scale = (load.var(1, unbiased=False, keepdim=True) + 1e-5).sqrt()
        load = (load - mean) / scale
        exogenous = torch.cat(
            [future[:, 0, 0:4], future[:, :, 4]], 1)
        x = torch.cat([load, exogenous], 1)
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        out = self.layers[-1](x).reshape(-1, 1, HORIZON).transpose(1, 2)
        return out * scale.unsqueeze(2) + mean.unsqueeze(2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(42)

    def data(count):
        return (torch.randn(count, WINDOW, PAST_CHANNELS),
                torch.randn(count, HORIZON, FUTURE_CHANNELS),
                torch.randn(count, HORIZON))

    train_past, train_future, train_targets = data(TRAIN_WINDOWS)
    val_past, val_future, val_targets = data(VALIDATION_WINDOWS)
    network = Perceptron()
    optimiser = torch.optim.Adam(network.parameters(), lr=1e-3)

    train_seconds = 0.0
    for _ in range(args.epochs):
        started = time.perf_counter()
        network.train()
        order = torch.randperm(TRAIN_WINDOWS)
        for begin in range(0, TRAIN_WINDOWS, BATCH):
            batch = order[begin:begin + BATCH]
            optimiser.zero_grad()
            output = network(train_past.index_select(0, batch),
                             train_future.index_select(0, batch))
            loss = torch.nn.functional.mse_loss(
                output[:, :, 0], train_targets.index_select(0, batch))
            loss.backward()
            optimiser.step()
            loss.item()
        network.eval()
        with torch.no_grad():
            for begin in range(0, VALIDATION_WINDOWS, 1024):
                end = min(VALIDATION_WINDOWS, begin + 1024)
                output = network(val_past[begin:end], val_future[begin:end])
                torch.nn.functional.mse_loss(output[:, :, 0],
                                             val_targets[begin:end]).item()
        train_seconds += time.perf_counter() - started
    print(f"pytorch {torch.__version__} threads={args.threads} "
          f"samples_per_second={TRAIN_WINDOWS * args.epochs / train_seconds:.0f}")


if __name__ == "__main__":
    main()
