#!/usr/bin/python3
"""A SCADA integration in Python: upload a feeder's history from a CSV,
train a model on it, wait until inference serves it and fetch a forecast.

Uses only stubs generated from proto/ (see tools/python/README.md) and
Debian's python3-grpcio. Exits non-zero with the server's message if any
call fails.
"""
import argparse
import csv
import datetime
import sys
import time

import grpc

from gridcast.v1 import forecaster_pb2, forecaster_pb2_grpc
from gridcast.v1 import trainer_pb2, trainer_pb2_grpc
from gridcast.v1 import types_pb2

CHUNK_POINTS = 4096


def parse_time(text):
    """ISO 8601 with Z or an offset, or Unix seconds."""
    if text.isdigit():
        return int(text)
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone")
    return int(moment.timestamp())


def read_history(path, time_column, value_column):
    with open(path, newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                yield parse_time(row[time_column]), float(row[value_column])
            except (KeyError, ValueError) as error:
                sys.exit(f"{path}:{line}: {error}")


def upload_chunks(points, series_id, resolution):
    """The first chunk carries the header; each chunk many points."""
    header = trainer_pb2.UploadHeader(
        series_id=series_id, resolution_seconds=resolution)
    chunk = trainer_pb2.UploadHistoryRequest(header=header)
    for timestamp, value in points:
        chunk.timestamps.append(timestamp)
        chunk.values.append(value)
        if len(chunk.values) == CHUNK_POINTS:
            yield chunk
            chunk = trainer_pb2.UploadHistoryRequest()
    if len(chunk.values) or chunk.HasField("header"):
        yield chunk


def train(trainer, model, dataset_id, epochs):
    job = trainer.CreateTrainingJob(trainer_pb2.CreateTrainingJobRequest(
        model=model, dataset_ids=[dataset_id],
        options=trainer_pb2.TrainingOptions(max_epochs=epochs))).job
    print(f"job {job.id} queued")
    for update in trainer.WatchTrainingJob(
            trainer_pb2.WatchTrainingJobRequest(job_id=job.id)):
        job = update.job
        if update.HasField("epoch"):
            print(f"  epoch {update.epoch.epoch}: validation loss "
                  f"{update.epoch.validation_loss:.4f}")
    state = trainer_pb2.JobState.Name(job.state)
    if job.state != trainer_pb2.JOB_STATE_SUCCEEDED:
        sys.exit(f"job {job.id} ended {state}: {job.error}")
    e = job.evaluation
    print(f"published version {job.published_version}: MAE "
          f"{e.model.mae:.2f} against seasonal naive "
          f"{e.seasonal_naive.mae:.2f}")
    return job.published_version


def wait_until_served(forecaster, model, version, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            served = forecaster.GetModel(
                forecaster_pb2.GetModelRequest(model=model)).model
            if served.served_version >= version:
                return
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
        time.sleep(0.2)
    sys.exit(f"inference did not serve {model} version {version} in time")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trainer", default="127.0.0.1:50051")
    parser.add_argument("--forecaster", default="127.0.0.1:50052")
    parser.add_argument("--csv", required=True)
    parser.add_argument("--series", default="feeder-py")
    parser.add_argument("--model", default="feeder-py")
    parser.add_argument("--timestamp-column", default="timestamp")
    parser.add_argument("--value-column", default="load_kw")
    parser.add_argument("--resolution", type=int, default=3600)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()

    trainer = trainer_pb2_grpc.TrainerServiceStub(
        grpc.insecure_channel(args.trainer))
    forecaster = forecaster_pb2_grpc.ForecasterServiceStub(
        grpc.insecure_channel(args.forecaster))

    points = list(read_history(args.csv, args.timestamp_column,
                               args.value_column))
    dataset = trainer.UploadHistory(
        upload_chunks(iter(points), args.series, args.resolution)).dataset
    print(f"uploaded {dataset.points} points as {dataset.id}")

    version = train(trainer, args.model, dataset.id, args.epochs)
    wait_until_served(forecaster, args.model, version)

    window = forecaster.GetModel(forecaster_pb2.GetModelRequest(
        model=args.model)).model.versions[-1].spec.input_window
    recent = points[-window:]
    response = forecaster.Forecast(forecaster_pb2.ForecastRequest(
        model=args.model,
        history=types_pb2.TimeSeries(timestamps=[t for t, _ in recent],
                                     values=[v for _, v in recent])))
    print(f"forecast by {response.model} version {response.version}:")
    for timestamp, value in zip(response.timestamps, response.values):
        moment = datetime.datetime.fromtimestamp(timestamp,
                                                 datetime.timezone.utc)
        print(f"  {moment:%Y-%m-%dT%H:%MZ}  {value:10.1f}")


if __name__ == "__main__":
    try:
        main()
    except grpc.RpcError as error:
        sys.exit(f"gridcast: {error.code().name}: {error.details()}")
