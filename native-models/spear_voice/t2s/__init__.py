"""Spear Studio's text-to-semantic decoder: models, ONNX contract names and export."""
