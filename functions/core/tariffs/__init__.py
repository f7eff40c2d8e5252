"""Tariff versions: storage (models, repository) and rules (service).

The admin API uses `TariffService`; the billing function uses `TariffBook`.
"""
