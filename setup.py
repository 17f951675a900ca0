"""heat-k8s-hook: the OpenStack heat-config hook for `group: kubectl`."""
from setuptools import find_packages, setup

setup(
    name="heat-k8s-hook",
    version="0.1.0",
    description="heat-config hook that server-side-applies Kubernetes manifests and waits "
                "until they are ready",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(exclude=["tests", "tests.*"]),
    python_requires=">=3.9",
    install_requires=[
        # 29.0.0 is the oldest client tested against; 37.x is the newest on PyPI (3.10+ only).
        "kubernetes>=29.0.0,<38",
        "PyYAML>=5.4",
        "jsonpath-ng>=1.5,<2",
        # the CLI's live progress view on a terminal (plain lines otherwise); 13.x runs on 3.9
        "rich>=13,<16",
        # retries of transient API faults within the deadline (retry.py); 9.2 needs 3.10+
        "tenacity>=9.1.2,<10",
        # Keystone: the TokenReview webhook validates tokens with it (issue 13), and the hook
        # gets its own Keystone token with it; 5.18 is the newest on PyPI
        "keystoneauth1>=4.2,<6",
    ],
    entry_points={
        "console_scripts": [
            "heat-k8s-hook = heat_k8s_hook.cli.main:main",
            "heat-k8s-hook-kubectl = heat_k8s_hook.entry.hook:main",
            # delete by absence, run by the agent before 55-heat-config (absence_run.py)
            "heat-k8s-hook-absent = heat_k8s_hook.entry.absence_run:main",
        ],
    },
    data_files=[("share/heat-k8s-hook/hooks", ["hooks/kubectl"])],
    classifiers=[
        "Environment :: OpenStack",
        "Programming Language :: Python :: 3",
        "License :: OSI Approved :: Apache Software License",
    ],
)
