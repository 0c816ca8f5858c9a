"""Packaging for kt-capacity: the `kt_capacity` plugin and `kt_capacity.ops` layers."""

from setuptools import setup

setup(
    name="kt-capacity",
    version="0.1.0",
    description=(
        "Keras Tuner plugin that finds the right depth and width of a CNN and "
        "explains why a candidate under- or overfits."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=["kt_capacity", "kt_capacity.ops"],
    package_dir={"kt_capacity": "kt_capacity", "kt_capacity.ops": "ops"},
    package_data={"kt_capacity": ["datasets/*.npz", "datasets/LICENSE*"]},
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3.0",
        "keras-tuner==1.4.8",
        # keras-tuner's Tuner.run_trial imports tensorboard on every trial (DESIGN.md).
        "tensorboard",
        "rich>=13",
        "matplotlib>=3.7",
        "scikit-learn>=1.2",
    ],
    extras_require={
        "prune": ["tensorflow-model-optimization==0.8.1", "tf-keras"],
        "test": ["pytest>=7"],
    },
    entry_points={"console_scripts": ["kt-capacity=kt_capacity.cli:main"]},
)
