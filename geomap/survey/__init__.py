"""Survey mode of the field app: find, pin and check establishments on the street.

- :mod:`geomap.survey.worklist`: the establishments of the officer's ward without an exact
  position, nearest first from the phone;
- :mod:`geomap.survey.capture`: "pin here" (the phone's position and accuracy), the storefront
  photo and the check of name, address, opening hours, digital payment and platforms, and adding
  an establishment found on the street (it waits for review); every change goes through the
  records service (:mod:`geomap.records.edit`: optimistic locking, audit);
- :mod:`geomap.survey.review`: the data officer's review of establishments added on site;
- :mod:`geomap.survey.data`: their SQL.
"""
