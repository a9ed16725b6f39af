#!/usr/bin/env python3
"""Proves the runtime images carry every shared library the servers load.

Docker does not run on the build machines, so the Dockerfile is checked
against what can be known offline: ldd names every library the built
binaries load (directly or through other libraries), dpkg -S names the
Debian package owning each, and the Depends of the installed packages say
what apt installs with the runtime stage's RUNTIME_PACKAGES on top of the
base image (Debian's minbase: the packages of priority "required", and
apt). Every owner must be among them.

  check_runtime_libs.py DOCKERFILE BINARY...

Exits 1 naming each library and package that is missing, or each
RUNTIME_PACKAGES entry that provides nothing the binaries need. A
self-test then drops libtorch1.13 from the list and expects a failure.
"""
import os
import re
import subprocess
import sys


def runtime_packages(dockerfile):
    """The RUNTIME_PACKAGES ARG of the Dockerfile's runtime stage."""
    text = open(dockerfile, encoding="utf-8").read()
    match = re.search(r'^ARG RUNTIME_PACKAGES="([^"]*)"', text, re.M)
    if not match:
        sys.exit(f"{dockerfile}: no ARG RUNTIME_PACKAGES=\"...\"")
    return match.group(1).split()


def dockerfile_problems(dockerfile):
    """The shape the images promise: Debian 12, a non-root user."""
    text = open(dockerfile, encoding="utf-8").read()
    stages = {name: base for base, name in
              re.findall(r"^FROM (\S+) AS (\S+)$", text, re.M)}
    expected = {"build": "debian:bookworm", "runtime": "debian:bookworm-slim",
                "trainer": "runtime", "inference": "runtime"}
    problems = [f"{dockerfile}: stage {name} must be FROM {base}"
                for name, base in expected.items()
                if stages.get(name) != base]
    if not re.search(r"^USER 10001:10001$", text, re.M):
        problems.append(f"{dockerfile}: the runtime must run as USER "
                        "10001:10001, the manifests' runAsUser")
    return problems


def libraries_of(binary):
    """{soname: path} of every library the binary loads, per ldd."""
    output = subprocess.run(["ldd", binary], check=True, text=True,
                            capture_output=True).stdout
    libraries = {}
    for line in output.splitlines():
        parts = line.split()
        if "=>" not in parts:
            continue  # the vDSO and the dynamic loader itself
        soname, target = parts[0], parts[parts.index("=>") + 1]
        libraries[soname] = None if target == "not" else target
    return libraries


def candidates_of(path):
    """`path` and its other spellings under merged /usr."""
    candidates = {path, os.path.realpath(path)}
    for candidate in list(candidates):
        if candidate.startswith("/usr/lib/"):
            candidates.add(candidate[len("/usr"):])
        elif candidate.startswith("/lib"):
            candidates.add("/usr" + candidate)
    return candidates


def owners_of(paths):
    """{path: the Debian package that installed it}, in one dpkg call."""
    spellings = {c: path for path in paths for c in candidates_of(path)}
    output = subprocess.run(["dpkg", "-S", *sorted(spellings)], text=True,
                            capture_output=True).stdout
    owners = {}
    for line in output.splitlines():
        if line.startswith("diversion "):
            continue
        packages, _, found = line.partition(": ")
        if found in spellings:
            owners[spellings[found]] = packages.split(",")[0].split(":")[0]
    return owners


class InstalledPackages:
    """The dpkg database: each installed package's dependencies."""

    def __init__(self):
        fields = "${Package}\t${Status}\t${Priority}\t${Essential}\t" \
                 "${Pre-Depends}\t${Depends}\t${Provides}\n"
        output = subprocess.run(["dpkg-query", "-W", "-f", fields],
                                check=True, text=True,
                                capture_output=True).stdout
        self.depends = {}
        self.providers = {}
        self.minbase = {"apt"}
        for line in output.splitlines():
            name, status, priority, essential, pre, depends, provides = \
                line.split("\t")
            if not status.endswith(" installed"):
                continue
            self.depends[name] = [d for d in (pre, depends) if d]
            for virtual in self._names(provides):
                self.providers.setdefault(virtual, name)
            if priority == "required" or essential == "yes":
                self.minbase.add(name)

    @staticmethod
    def _names(field):
        # "libc6 (>= 2.34), libfoo:any" -> ["libc6", "libfoo"]
        return [re.split(r"[ :(]", item.strip())[0]
                for item in field.split(",") if item.strip()]

    def _resolve(self, alternatives):
        for alternative in alternatives.split("|"):
            name = re.split(r"[ :(]", alternative.strip())[0]
            if name in self.depends:
                return name
            if name in self.providers:
                return self.providers[name]
        return None

    def closure(self, roots):
        """The packages apt installs for `roots` (Recommends left out)."""
        seen, pending = set(), list(roots)
        while pending:
            package = pending.pop()
            if package in seen:
                continue
            seen.add(package)
            for field in self.depends.get(package, []):
                for group in field.split(","):
                    resolved = self._resolve(group)
                    if resolved:
                        pending.append(resolved)
        return seen


def check(listed, owners, installed):
    """Problems with `listed` as the runtime stage's packages."""
    problems = []
    for package in listed:
        if package not in installed.depends:
            problems.append(f"{package}: not a Debian 12 package installed "
                            "here (tools/install-deps.sh installs them)")
    base = installed.closure(installed.minbase)
    image = base | installed.closure(listed)
    for soname, (path, owner) in sorted(owners.items()):
        if owner not in image:
            problems.append(f"{soname} ({path}) comes from {owner}, which "
                            "the runtime image would not install")
    for package in listed:
        provided = installed.closure([package]) - base
        if not provided & {owner for _, owner in owners.values()}:
            problems.append(f"{package}: provides no library the servers "
                            "load; drop it from RUNTIME_PACKAGES")
    return problems


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: check_runtime_libs.py DOCKERFILE BINARY...")
    dockerfile, binaries = sys.argv[1], sys.argv[2:]
    listed = runtime_packages(dockerfile)
    installed = InstalledPackages()

    paths, problems = {}, dockerfile_problems(dockerfile)
    for binary in binaries:
        for soname, path in libraries_of(binary).items():
            if path is None:
                problems.append(f"{binary}: {soname} not found by ldd")
            else:
                paths[soname] = path
    owner_by_path = owners_of(set(paths.values()))
    owners = {}
    for soname, path in paths.items():
        if path not in owner_by_path:
            problems.append(f"{path} belongs to no package")
        else:
            owners[soname] = (path, owner_by_path[path])
    print(f"runtime packages: {' '.join(listed)}")
    print(f"{len(owners)} libraries from "
          f"{len({o for _, o in owners.values()})} packages")

    problems += check(listed, owners, installed)
    for problem in problems:
        print(f"FAIL: {problem}")

    # Self-test: without LibTorch the same check must fail.
    without_torch = [p for p in listed if p != "libtorch1.13"]
    if not check(without_torch, owners, installed):
        problems.append("self-test: dropping libtorch1.13 was not noticed")
        print(f"FAIL: {problems[-1]}")
    else:
        print("self-test: a list without libtorch1.13 is refused")

    if problems:
        sys.exit(1)
    print("every library the servers load comes from the runtime image")


if __name__ == "__main__":
    main()
