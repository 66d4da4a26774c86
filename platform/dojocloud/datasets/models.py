"""Uploaded datasets and the uploads in progress. The rows are the system of record; the
bytes live in object storage (dojocloud.common.storage) under `storage_key`."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

NPZ, TEXT, ONNX = "npz", "text", "onnx"
FORMAT_CHOICES = [(NPZ, "npz arrays"), (TEXT, "UTF-8 text"), (ONNX, "ONNX model")]
READY, DELETING = "READY", "DELETING"
DATASET, MODEL = "dataset", "model"  # what an upload becomes


class Dataset(models.Model):
    uid = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.PROTECT, related_name="datasets"
    )
    dataset_id = models.CharField(max_length=63)  # the client's id in the resource name
    display_name = models.CharField(max_length=200, blank=True)
    format = models.CharField(max_length=8, choices=FORMAT_CHOICES)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_key = models.CharField(max_length=300)
    # What validation found: npz {x_shape, sample_shape, samples, y_dtype, targets, and for
    # int64 labels num_classes, class_counts} (no y_dtype: labels, recorded before targets);
    # text {size, lines}. The runtime's shapes come from here (estimates need no bytes).
    summary = models.JSONField(default=dict)
    state = models.CharField(max_length=10, default=READY)
    creator_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "dataset_id"], name="one_dataset_id")
        ]

    @property
    def resource_name(self) -> str:
        return f"organizations/{self.organization.slug}/datasets/{self.dataset_id}"


class DatasetUpload(models.Model):
    """An upload: `committed` bytes are stored as parts under orgs/{org}/uploads/{uid}/
    while it is in progress; once finished it points at its dataset (so a re-run of the same
    upload learns it is done) and goes with it. A refused or expired upload's row goes."""

    uid = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    upload_id = models.CharField(max_length=64)  # the client's
    kind = models.CharField(max_length=8, default=DATASET)  # DATASET | MODEL
    dataset_id = models.CharField(max_length=63)  # the id of what it becomes (either kind)
    display_name = models.CharField(max_length=200, blank=True)
    format = models.CharField(max_length=8, choices=FORMAT_CHOICES)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    committed = models.BigIntegerField(default=0)
    result = models.ForeignKey(  # the dataset, once the upload finished
        Dataset, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    model_result = models.ForeignKey(  # the model, once a model's upload finished
        "OnnxModel", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    creator_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "upload_id"], name="one_upload_id")
        ]


class OnnxModel(models.Model):
    """A model the customer brought as ONNX: organizations/{org}/models/{model_id}."""

    uid = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.PROTECT, related_name="onnx_models"
    )
    model_id = models.CharField(max_length=63)
    display_name = models.CharField(max_length=200, blank=True)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_key = models.CharField(max_length=300)
    # What the import found: {inputs, outputs: [{name, shape, dtype}], op_counts,
    # parameters, opset}; pages and job validation read it without the bytes.
    summary = models.JSONField(default=dict)
    state = models.CharField(max_length=10, default=READY)
    creator_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "model_id"], name="one_model_id")
        ]

    @property
    def resource_name(self) -> str:
        return f"organizations/{self.organization.slug}/models/{self.model_id}"
