-- 0014_product_images.sql: a product's image for the checkout page.
--
-- The bytes live in the object storage (libcommon storage) under a
-- content-addressed key "product-images/<sha256>.<ext>"; the row keeps the
-- key and the content type the upload was checked to be.
ALTER TABLE products
  ADD COLUMN image_key VARCHAR(200) CHARACTER SET ascii COLLATE ascii_bin NULL AFTER description,
  ADD COLUMN image_content_type VARCHAR(32) CHARACTER SET ascii NULL AFTER image_key;
