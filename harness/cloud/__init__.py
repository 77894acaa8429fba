"""The cloud half of a Greengrass deployment, simulated with moto: Shadow sync and S3
model resources."""
