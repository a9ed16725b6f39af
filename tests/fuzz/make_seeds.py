#!/usr/bin/python3
"""Writes the binary seed corpora of the fuzz targets (tests/fuzz/corpus/).

The JSON and CSV seeds are written by hand; the serialised protos and the
framed socket reads of http_request_fuzz come from this script. Run it
again after changing a proto:
    tests/fuzz/make_seeds.py
It needs protoc and Debian's python3-protobuf (tools/install-deps.sh
installs both), hence /usr/bin/python3 rather than whichever is on PATH.
"""
import math
import os
import pathlib
import struct
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fuzz" / "corpus"
HOUR = 3600
MONDAY = 1704067200  # 2024-01-01T00:00:00Z


def load_protos(out_dir):
    protos = ["gridcast/v1/types.proto", "gridcast/v1/trainer.proto",
              "gridcast/v1/forecaster.proto"]
    subprocess.run(["protoc", f"--proto_path={ROOT / 'proto'}",
                    f"--python_out={out_dir}"] + protos, check=True)
    sys.path.insert(0, out_dir)
    from gridcast.v1 import forecaster_pb2, trainer_pb2
    return forecaster_pb2, trainer_pb2


def write(target, name, data):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data)


def records(messages):
    """The record framing of fuzz_support.h's SplitRecords."""
    out = b""
    for message in messages:
        data = message.SerializeToString()
        out += struct.pack("<H", len(data)) + data
    return out


def upload_seeds(trainer_pb2):
    def chunk(times, values, header=None, covariates=()):
        request = trainer_pb2.UploadHistoryRequest()
        if header is not None:
            request.header.CopyFrom(header)
        request.timestamps.extend(times)
        request.values.extend(values)
        for name, column in covariates:
            covariate = request.covariates.add()
            covariate.name = name
            covariate.values.extend(column)
        return request

    header = trainer_pb2.UploadHeader(series_id="feeder-17",
                                      resolution_seconds=HOUR)
    times = [MONDAY + i * HOUR for i in range(8)]
    loads = [600 + 10 * math.sin(i) for i in range(8)]
    write("upload_assembler_fuzz", "one_chunk",
          records([chunk(times, loads, header)]))
    write("upload_assembler_fuzz", "two_chunks",
          records([chunk(times[:4], loads[:4], header),
                   chunk(times[4:], loads[4:])]))

    gappy = trainer_pb2.UploadHeader(series_id="feeder-17",
                                     resolution_seconds=HOUR,
                                     max_gap_fill_points=3)
    write("upload_assembler_fuzz", "gap_filled",
          records([chunk(times[:3] + times[5:], loads[:3] + loads[5:],
                         gappy)]))

    sorting = trainer_pb2.UploadHeader(series_id="feeder-17",
                                       resolution_seconds=HOUR,
                                       sort_timestamps=True)
    write("upload_assembler_fuzz", "sorted",
          records([chunk(list(reversed(times)), list(reversed(loads)),
                         sorting)]))

    with_temperature = trainer_pb2.UploadHeader(
        series_id="feeder-17", resolution_seconds=HOUR,
        covariate_names=["temperature_c"], holidays=[MONDAY])
    write("upload_assembler_fuzz", "covariate",
          records([chunk(times, loads, with_temperature,
                         [("temperature_c", [1.5] * 8)])]))


def forecast_seeds(forecaster_pb2):
    def request(points=24, horizon=0, quantiles=(), future=6, wind=True):
        message = forecaster_pb2.ForecastRequest(model="feeder-1",
                                                 horizon=horizon)
        message.history.timestamps.extend(
            MONDAY + i * HOUR for i in range(points))
        message.history.values.extend(
            100 + 10 * math.sin(i) for i in range(points))
        message.quantiles.extend(quantiles)
        temperature = message.covariates.add()
        temperature.name = "temperature"
        temperature.values.extend(15 + math.cos(i)
                                  for i in range(points + future))
        if wind:
            speed = message.covariates.add()
            speed.name = "wind"
            speed.values.extend([4.0] * points)
        return message.SerializeToString()

    write("forecast_request_fuzz", "full_window", request())
    write("forecast_request_fuzz", "longer_history_horizon_3",
          request(points=30, horizon=3, quantiles=[0.9]))
    write("forecast_request_fuzz", "both_quantiles",
          request(quantiles=[0.1, 0.9]))
    write("forecast_request_fuzz", "missing_wind", request(wind=False))
    write("forecast_request_fuzz", "short_future", request(future=2))


def anomaly_seeds(forecaster_pb2):
    """Requests for the tiny model: 24 points of context, then 12 scored."""
    def request(values, score_points=0, band=(0, 0), flat_line_points=0,
                min_score=0):
        message = forecaster_pb2.DetectAnomaliesRequest(
            model="feeder-1", score_points=score_points,
            lower_quantile=band[0], upper_quantile=band[1],
            flat_line_points=flat_line_points, min_score=min_score)
        message.history.timestamps.extend(
            MONDAY + i * HOUR for i in range(len(values)))
        message.history.values.extend(values)
        temperature = message.covariates.add()
        temperature.name = "temperature"
        temperature.values.extend(15 + math.cos(i) for i in range(len(values)))
        wind = message.covariates.add()
        wind.name = "wind"
        wind.values.extend([4.0] * len(values))
        return message.SerializeToString()

    normal = [100 + 10 * math.sin(i / 3) for i in range(36)]
    write("anomaly_request_fuzz", "normal", request(normal))
    spike = list(normal)
    spike[30] = 400
    write("anomaly_request_fuzz", "spike_and_drop",
          request(spike[:32] + [0] + spike[33:], min_score=0.2))
    stuck = normal[:28] + [normal[27]] * 8
    write("anomaly_request_fuzz", "stuck_meter",
          request(stuck, flat_line_points=5))
    missing = list(normal)
    missing[5] = missing[29] = math.nan
    write("anomaly_request_fuzz", "missing", request(missing))
    write("anomaly_request_fuzz", "last_eight_named_band",
          request(normal, score_points=8, band=(0.1, 0.9)))


def http_seeds():
    """Requests to the metrics endpoint, framed as the socket's reads."""
    def reads(*parts):
        return b"".join(struct.pack("<H", len(part)) + part
                        for part in parts)

    scrape = (b"GET /metrics HTTP/1.1\r\nHost: 10.0.0.7:9090\r\n"
              b"User-Agent: Prometheus/2.42.0\r\nAccept: text/plain\r\n\r\n")
    write("http_request_fuzz", "prometheus_scrape", reads(scrape))
    write("http_request_fuzz", "blank_line_split",
          reads(scrape[:-3], scrape[-3:]))
    write("http_request_fuzz", "head_bare_lf",
          reads(b"HEAD /metrics?x=1 HTTP/1.0\n\n"))
    write("http_request_fuzz", "post_with_body",
          reads(b"POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
                b"hello"))
    write("http_request_fuzz", "other_path",
          reads(b"GET / HTTP/1.1\r\n\r\n"))
    write("http_request_fuzz", "too_large",
          reads(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 8200,
                b"\r\n\r\n"))


def main():
    http_seeds()
    with tempfile.TemporaryDirectory() as out_dir:
        forecaster_pb2, trainer_pb2 = load_protos(out_dir)
        upload_seeds(trainer_pb2)
        forecast_seeds(forecaster_pb2)
        anomaly_seeds(forecaster_pb2)


if __name__ == "__main__":
    main()
