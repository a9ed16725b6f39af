#!/usr/bin/env python3
"""The seed's way of serving a forecast, for the benchmark to compare with:
Flask's own server (threaded), the network in PyTorch, JSON in and out.

It serves the newest version of one model from a gridcast store, with the
same network, normalisation and calendar features as gridcast-inference,
so that both do the same work per request:

    POST /predict  {"timestamps": [...], "values": [...], "horizon": 24}
    -> {"timestamps": [...], "values": [...], "version": N}

Run: python3 flask_server.py --store DIR --model NAME --port 8080
Needs Debian's python3-flask and python3-torch (the benchmark script
installs them; the build and CI do not need them).
"""
import argparse
import json
import logging
import math
import os

import flask
import torch

SECONDS_PER_DAY = 86400
SECONDS_PER_WEEK = 7 * SECONDS_PER_DAY
# 1970-01-01 was a Thursday; this shift puts the weekly phase at zero on
# Monday 00:00 UTC, as common/model/features.cc does.
MONDAY_SHIFT = 3 * SECONDS_PER_DAY
# ForecastNetworkImpl's floor under a window's variance.
SCALE_FLOOR = 1e-5


def newest_version(store, model):
    root = os.path.join(store, "models", model)
    versions = [int(name) for name in os.listdir(root) if name.isdigit()]
    if not versions:
        raise SystemExit(f"{model} has no published version in {store}")
    version = max(versions)
    return version, os.path.join(root, str(version))


def build_network(manifest, weights_path):
    """The perceptron of common/model/networks.cc with the stored weights."""
    spec = manifest["spec"]
    window = spec.get("input_window", 168)
    horizon = spec.get("horizon", 24)
    hidden = spec.get("mlp", {}).get("hidden_sizes", [])
    layers = []
    # The window, the calendar of the first forecast point (4 values) and
    # a holiday flag per horizon point, as ForecastNetworkImpl reads them.
    width = window + 4 + horizon
    for size in hidden:
        layers += [torch.nn.Linear(width, size), torch.nn.ReLU()]
        width = size
    layers.append(torch.nn.Linear(width, horizon))
    network = torch.nn.Sequential(*layers)

    # weights.pt is a LibTorch archive: its parameters are named
    # layers.<i>.weight / layers.<i>.bias, i counting Linear layers only.
    archive = torch.jit.load(weights_path, map_location="cpu")
    stored = dict(archive.named_parameters())
    linears = [m for m in network if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for i, linear in enumerate(linears):
            linear.weight.copy_(stored[f"layers.{i}.weight"])
            linear.bias.copy_(stored[f"layers.{i}.bias"])
    network.eval()
    return network, window, horizon


def features(values, first_time, window, horizon, mean, stddev):
    """The network's inputs, and the window's mean and scale to undo."""
    loads = torch.tensor([(v - mean) / stddev for v in values[-window:]],
                         dtype=torch.float32)
    # Instance scaling, as ForecastNetworkImpl::forward does it.
    window_mean = loads.mean()
    window_scale = (loads.var(unbiased=False) + SCALE_FLOOR).sqrt()
    loads = (loads - window_mean) / window_scale
    day = 2 * math.pi * (first_time % SECONDS_PER_DAY) / SECONDS_PER_DAY
    week = (2 * math.pi * ((first_time + MONDAY_SHIFT) % SECONDS_PER_WEEK)
            / SECONDS_PER_WEEK)
    calendar = torch.tensor([math.sin(day), math.cos(day), math.sin(week),
                             math.cos(week)] + [0.0] * horizon)  # no holidays
    return torch.cat([loads, calendar]), window_mean, window_scale


def make_app(store, model):
    version, path = newest_version(store, model)
    with open(os.path.join(path, "manifest.json")) as f:
        manifest = json.load(f)
    network, window, max_horizon = build_network(
        manifest, os.path.join(path, "weights.pt"))
    norm = manifest["normalisation"]
    mean, stddev = float(norm.get("mean", 0)), float(norm["stddev"])
    resolution = int(manifest.get("resolution_seconds", 3600))

    app = flask.Flask(__name__)

    @app.post("/predict")
    def predict():
        body = flask.request.get_json(force=True)
        timestamps = body["timestamps"]
        values = body["values"]
        horizon = int(body.get("horizon") or max_horizon)
        if len(values) < window or len(timestamps) != len(values):
            return flask.jsonify(error=f"need {window} points"), 400
        if horizon > max_horizon:
            return flask.jsonify(error=f"horizon over {max_horizon}"), 400
        first = int(timestamps[-1]) + resolution
        x, window_mean, window_scale = features(
            values, first, window, max_horizon, mean, stddev)
        with torch.inference_mode():
            # The first `max_horizon` outputs are the point forecast.
            y = network(x.unsqueeze(0))[0, :horizon]
            y = (y * window_scale + window_mean).tolist()
        return flask.jsonify(
            timestamps=[first + h * resolution for h in range(horizon)],
            values=[v * stddev + mean for v in y],
            version=version)

    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--torch_threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.torch_threads)
    app = make_app(args.store, args.model)
    # gridcast logs no line per request either.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    print(f"flask_listening port={args.port}", flush=True)
    app.run(host="127.0.0.1", port=args.port, threaded=True)


if __name__ == "__main__":
    main()
