"""Data: case table, image reading, synthetic data, ROI boxes, augmentation, split."""
