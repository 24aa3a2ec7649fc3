"""FastCart's catalogue: 15 products, payment methods and cancellation reasons."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    price: float


PRODUCTS = (
    Product("PROD-001", "Wireless Mouse", 24.99),
    Product("PROD-002", "Mechanical Keyboard", 89.99),
    Product("PROD-003", "27-inch Monitor", 279.00),
    Product("PROD-004", "USB-C Cable", 11.16),
    Product("PROD-005", "Laptop Stand", 39.50),
    Product("PROD-006", "Noise-Cancelling Headphones", 199.99),
    Product("PROD-007", "Webcam HD", 59.90),
    Product("PROD-008", "Portable SSD 1TB", 109.00),
    Product("PROD-009", "Bluetooth Speaker", 49.95),
    Product("PROD-010", "Smartwatch", 229.00),
    Product("PROD-011", "Phone Charger 65W", 29.99),
    Product("PROD-012", "Desk Lamp LED", 34.75),
    Product("PROD-013", "Ergonomic Chair", 349.00),
    Product("PROD-014", "Wi-Fi Router", 129.99),
    Product("PROD-015", "Gaming Controller", 64.99),
)

# Popular methods first: picks are weighted toward the front.
PAYMENT_METHODS = (
    "credit_card",
    "debit_card",
    "paypal",
    "apple_pay",
    "google_pay",
    "bank_transfer",
)
PAYMENT_WEIGHTS = (38, 22, 18, 10, 7, 5)

CANCELLATION_REASONS = (
    "customer_request",
    "payment_failed",
    "out_of_stock",
    "address_invalid",
    "fraud_suspected",
    "delivery_delay",
)

LIFECYCLE = ("pending", "confirmed", "processing", "shipped")
